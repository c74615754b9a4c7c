"""seqlens.models"""
