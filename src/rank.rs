//! Ranking over the compressed item table (to be written).
