"""Market data: ccxt.pro order-book streams into the Rust book store."""
