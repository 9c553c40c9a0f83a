"""
XBlock classes the runtime brings: the outline containers, the placeholder for block types that
are installed nowhere, and the inheritable settings every block gets. Depends on XBlock only.
"""
