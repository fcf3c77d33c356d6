"""What learners, schools and regulators say of each other, and what the index counts: reviews
(`reviews`), penalties (`penalties`), pages of rows (`paging`); and the service-quality index
(一指数) with the statistics behind it and the school list (issue 10): `measures` names what
can be counted, `stats` counts it in SQL over a window, `index` turns the counts into the
published items, scores, levels and lists under a city's policy, `publish` stores a
publication, `reading` serves the regulator's and the learner's reads from it.
"""
