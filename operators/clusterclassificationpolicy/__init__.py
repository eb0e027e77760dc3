"""The ClusterClassificationPolicy operator: reviews the baseline every tenant inherits."""
