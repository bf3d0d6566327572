//! Helpers shared by the lab tests.
