"""Who may reach what: course outlines, outline processors, partition schemes. See the ``api`` module."""
