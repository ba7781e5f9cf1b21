"""Custom TFX components of this pipeline, one small package each (spec, executor, component)."""
