"""Pure helpers of the app: no database access, no side effects beyond their arguments.

Services, selectors and views call them; they call no service or selector.
"""
