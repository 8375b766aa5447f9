//! The judges against the stand-in server (`judgeflow-test`) over real HTTP on 127.0.0.1.
