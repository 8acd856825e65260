"""GCN fitting of the weight-sharing search space (METHODS.md section 6): a graph convolutional
regressor over cell graphs (:class:`GCNPredictor`) and the generator that proposes its
predicted Pareto front (:class:`GCNPredictorGenerator`)."""
from monas.plugins.gcn_predictor.generator import GCNPredictorGenerator
from monas.plugins.gcn_predictor.model import GCN, GraphBatch, stack_graphs
from monas.plugins.gcn_predictor.predictor import GCNPredictor

__all__ = ["GCN", "GCNPredictor", "GCNPredictorGenerator", "GraphBatch", "stack_graphs"]
