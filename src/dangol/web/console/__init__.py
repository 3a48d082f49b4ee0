"""The operator console: `/console`, for signed-in staff, each page as their role allows."""
