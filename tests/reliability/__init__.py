"""Reliability and security of OLX import (issue 9): hostile, damaged and repeated input."""
