"""The notes-app Lambda handlers (a small serverless CRUD app used by the demo)."""
