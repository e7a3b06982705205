"""End-to-end: a real headless Chromium against real servers and the emulator's pages."""
