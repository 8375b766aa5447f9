//! Integration tests of judgeflow-datafiles: one module per area.
