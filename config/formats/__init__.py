"""The portal's own formats where Django's locale ones differ from the one rule for times
(accounts/times.py): 24-hour, the date as year-month-day. Chinese keeps Django's, which
already are."""
