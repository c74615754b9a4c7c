"""seqlens.io"""
