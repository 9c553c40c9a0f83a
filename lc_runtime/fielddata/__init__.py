"""
Field data: authored scopes from OLX, learner scopes from the learner-state store, inherited
values, and the unit of work that commits every write of a request at once.
"""
