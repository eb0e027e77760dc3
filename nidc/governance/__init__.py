"""MIIT data domains, grades 1/2/3, grade-to-controls bundles and the classification engine."""
