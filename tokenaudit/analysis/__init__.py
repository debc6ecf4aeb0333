"""Analysis over stored events: failure groups and causes, periodic reports, answers for pasted messages."""
