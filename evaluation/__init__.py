"""The service-quality index (一指数) and the statistics behind it and the school list (issue 10).

`measures` names what can be counted, `stats` counts it in SQL over a window, `index` turns the
counts into the published items, scores, levels and lists under a city's policy, `publish`
stores a publication, `reading` serves the regulator's and the learner's reads from it.
"""
