"""The DataProduct operator: runs the transform, records runs, reports table and quality."""
