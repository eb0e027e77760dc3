"""DCMM self-assessment (GB/T 36073-2018): process areas scored from the platform's evidence."""
