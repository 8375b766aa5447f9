//! Integration tests of judgeflow-scorers: parity with the Python reference packages.

mod corpus;
mod parity;
