"""Organisation life on record (全程纪实): 三会一课, 主题党日 and service activities, with attendance."""
