import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { KafkaCluster, type KafkaClusterProps } from './kafka-cluster.js';

export interface KafkaClusterChartProps extends ChartProps, KafkaClusterProps {}

/** A Chart holding exactly one KafkaCluster; synthesizes to <chart id>.k8s.yaml. */
export class KafkaClusterChart extends Chart {
  public readonly cluster: KafkaCluster;

  constructor(scope: Construct, id: string, props: KafkaClusterChartProps) {
    super(scope, id, props);
    this.cluster = new KafkaCluster(this, 'Kafka', props);
  }
}
