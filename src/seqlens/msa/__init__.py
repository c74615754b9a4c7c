"""seqlens.msa"""
