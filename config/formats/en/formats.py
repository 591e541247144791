# Django date format syntax. Any datetime a page shows without the `moment` filter (the
# Django admin's lists, allauth's pages) reads 24-hour, like every other time.
DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
