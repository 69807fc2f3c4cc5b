"""Pure dynamics: functions of arrays, parameters, a Generator and the day; no files, no Mesa."""
