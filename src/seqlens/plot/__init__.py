"""seqlens.plot"""
