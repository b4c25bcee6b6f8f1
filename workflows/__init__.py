"""jobflow Makers and flows, calculator engines and execution back ends."""
