"""seqlens.study"""
