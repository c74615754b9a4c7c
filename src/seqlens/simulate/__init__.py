"""seqlens.simulate"""
