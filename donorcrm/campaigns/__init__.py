"""Campaigns and funds: what a gift was raised by and what it may be spent on.

Owns the campaign and fund tables. Crowdfunding pages, match pools and actions extend it.
"""
