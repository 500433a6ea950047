"""The party layer (融合党建): party organisations built on the territory, their members, 双报到 and points.

It stands above the grid and tasks contexts (it reads ticket events; nothing below imports it).
"""
