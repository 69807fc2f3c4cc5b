"""Pure dynamics: functions of arrays, parameters, uniforms (or a set-up generator) and the day."""
