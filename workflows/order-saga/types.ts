import type { OrderRequest } from '../../shared/order';
import type { SagaSettings } from '../../shared/saga-settings';

export interface OrderSagaInput {
  orderId: string;
  order: OrderRequest;
  settings: SagaSettings;
}

export interface OrderSagaData {
  paymentId?: string;
  shipmentId?: string;
  trackingNumber?: string | null;
  reservationId?: string;
}
