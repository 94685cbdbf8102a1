"""The Pulumi-free model every tool shares: what a stack and its pipelines are, what things are
called, which arguments the platform gives a job, and the IAM documents a stack needs.

Pure data and pure functions: nothing here imports Pulumi, the components or any tool.
"""
