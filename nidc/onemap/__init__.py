"""The industrial economy "one map": indicators from tenants' gold products, China's provinces
as light SVG geometry, and early-warning rules (issue 18)."""
