"""seqlens.train"""
