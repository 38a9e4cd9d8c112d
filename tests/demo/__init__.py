"""Tests of ``clinic-sync demo`` and its generated clinic."""
