"""PredictionCsv: BulkInferrer's predictions as a CSV file, with the columns of `predict`."""

from components.prediction_csv.component import PredictionCsv, Predictions
from components.prediction_csv.executor import PREDICTIONS_FILE

__all__ = ["PREDICTIONS_FILE", "PredictionCsv", "Predictions"]
