"""The Pulumi program: one ComponentResource per file in components/, one stack file per center.

Filled in by the stacks issue (national, region-east, region-west, local profiles).
"""
