"""The three lists of issue 21 (需求清单, 资源清单, 项目清单), the need's life (点单-派单-接单-评单) and 微心愿."""
