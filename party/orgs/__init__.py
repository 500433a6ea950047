"""Party organisations (党组织): a tree of committees, general branches, branches and groups."""
