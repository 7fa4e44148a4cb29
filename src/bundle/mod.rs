//! The model bundle (to be written).
