"""seqlens.attribution"""
