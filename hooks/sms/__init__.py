"""SMS provider callbacks: residents' replies (ratings and comments) and delivery reports."""
