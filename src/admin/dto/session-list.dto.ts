import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';

export class SessionListQuery {
  @ApiPropertyOptional({
    enum: ['cluster', 'local'],
    default: 'cluster',
    description: '`local`: only the sessions this process holds (without a cluster both are the same)',
  })
  @IsOptional()
  @IsIn(['cluster', 'local'])
  scope?: 'cluster' | 'local';
}
