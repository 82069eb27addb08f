"""Automatic take analysis: per-take detectors, a suspicion score and a listen-first order.
"""
