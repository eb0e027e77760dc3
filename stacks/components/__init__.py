"""ComponentResources of the lakehouse (ObjectStore, SecretsStore, SparkPools, ...)."""
