"""Streamlit glue shared by the pages: session state, sidebar filters, components.

Only Streamlit code lives here; every query and statistic lives in ``analytics``.
"""
